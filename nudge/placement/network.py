"""The walking network as arrays: node coordinates, a sparse graph and an igraph twin.

Distances along the network come from SciPy's Dijkstra with a distance limit;
local centrality from igraph (C code), never from plain networkx.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import igraph as ig
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

_BATCH = 256


@dataclass(frozen=True)
class WalkNetwork:
    """A walking network in a metric CRS.

    Attributes
    ----------
    xy
        Node coordinates (metres), one row per node.
    graph
        Symmetric sparse matrix of edge lengths in metres.
    edges
        ``(m, 2)`` node indices of each edge, and `lengths` their lengths.
    """

    xy: np.ndarray
    graph: csr_matrix
    edges: np.ndarray
    lengths: np.ndarray
    crs: CRS

    @property
    def size(self) -> int:
        """Return the number of nodes."""
        return len(self.xy)

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the nearest node of each point and the straight-line distance to it."""
        dist, idx = cKDTree(self.xy).query(xy)
        return idx.astype(np.int64), dist

    def distances_from(self, nodes: np.ndarray, *, limit: float) -> np.ndarray:
        """Return network distances from `nodes` to every node (inf beyond `limit`)."""
        return dijkstra(self.graph, directed=False, indices=nodes, limit=limit)

    def batches(self, nodes: np.ndarray, *, limit: float) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(slice, distances)`` for `nodes` in batches that fit in memory."""
        for start in range(0, len(nodes), _BATCH):
            part = slice(start, start + _BATCH)
            yield part, self.distances_from(nodes[part], limit=limit)

    def centrality(
        self, *, cutoff: float, nodes: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return local closeness and betweenness within `cutoff` metres.

        Local closeness is harmonic: the sum of 1/distance to the nodes within
        `cutoff`, which, unlike plain closeness, does not favour dead ends; it
        is computed for `nodes` only (default all). Betweenness counts the
        shortest paths of at most `cutoff` metres through each node.

        Returns
        -------
        tuple
            Closeness of `nodes` and betweenness of all nodes.
        """
        g = ig.Graph(n=self.size, edges=self.edges, directed=False)
        g.es["length"] = self.lengths
        which = np.arange(self.size) if nodes is None else np.asarray(nodes)
        closeness = np.asarray(
            g.harmonic_centrality(
                vertices=which.tolist(), weights="length", cutoff=cutoff, normalized=False
            )
        )
        betweenness = np.asarray(g.betweenness(directed=False, weights="length", cutoff=cutoff))
        return closeness, betweenness


def _length_matrix(edges: np.ndarray, lengths: np.ndarray, n: int) -> csr_matrix:
    """Return the symmetric matrix of the shortest edge between each pair of nodes."""
    i = np.r_[edges[:, 0], edges[:, 1]]
    j = np.r_[edges[:, 1], edges[:, 0]]
    w = np.r_[lengths, lengths]
    order = np.lexsort((w, j, i))
    i, j, w = i[order], j[order], w[order]
    first = np.r_[True, (i[1:] != i[:-1]) | (j[1:] != j[:-1])] & (i != j)
    return csr_matrix((w[first], (i[first], j[first])), shape=(n, n))


def walk_network_from_streets(streets: gpd.GeoDataFrame, *, crs: CRS) -> WalkNetwork | None:
    """Build the walking network of a dataset's streets, or None when it has none."""
    walk = streets.loc[streets["walk"].to_numpy(dtype=bool)] if len(streets) else streets
    if len(walk) == 0:
        return None
    geoms = walk.geometry.to_crs(crs).array
    ends = np.c_[
        shapely.get_coordinates(shapely.get_point(geoms, 0)),
        shapely.get_coordinates(shapely.get_point(geoms, -1)),
    ]
    ids = np.r_[walk["u"].to_numpy(), walk["v"].to_numpy()]
    node_ids, inverse = np.unique(ids, return_inverse=True)
    xy = np.zeros((len(node_ids), 2))
    xy[inverse] = np.r_[ends[:, :2], ends[:, 2:]]
    m = len(walk)
    edges = np.c_[inverse[:m], inverse[m:]]
    lengths = np.maximum(walk["length_m"].to_numpy(dtype=float), 0.01)
    graph = _length_matrix(edges, lengths, len(node_ids))
    return WalkNetwork(xy=xy, graph=graph, edges=edges, lengths=lengths, crs=crs)
