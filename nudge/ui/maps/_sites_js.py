"""The browser side of the Plan map: every candidate site as a dot on one canvas.

Tens of thousands of Leaflet markers (and a cluster plugin grouping them) cost seconds in the
browser each time the map is drawn. Here the sites are flat arrays drawn on one canvas, one
path per colour, redrawn after each pan or zoom (a few milliseconds). Hovering or tapping near
a site puts one real circle marker with its tooltip there: a click on it reaches
streamlit-folium as a click on a marker whose tooltip ends with the site id (read back by
`nudge.ui.planning.site_from_click`). There are no clusters, so no click can pick a cluster.

New scores are applied in place by ``window.nudgeSites.rescore(...)`` (see
`nudge.ui.maps.candidates.rescore_script`): the map, its view and its tiles stay.

`SITES_JS` is the body of a function of ``L`` (Leaflet), ``map`` and ``d`` (the columns of
`nudge.ui.maps.candidates.site_columns`) that returns the layer. Names, reasons, ids and
words in ``d`` are escaped in Python; the script only joins them.
"""

from __future__ import annotations

SITES_JS = """
var n = d.id.length, w = d.words, pal = d.palette, CELL = 16;
var lat = new Float64Array(n), lon = new Float64Array(n);
for (var i = 0; i < n; i++) {
    lat[i] = d.lat[i] === null ? NaN : (d.lat0 + d.lat[i]) / 1e5;
    lon[i] = d.lon[i] === null ? NaN : (d.lon0 + d.lon[i]) / 1e5;
}
var base = {key: "base", score: d.score, rank: d.rank}, cur = base;
var px = new Float32Array(n), py = new Float32Array(n), grid = new Map(), radius = 3;
var hover = L.featureGroup().addTo(map), hovered = -1;

function colour(i) {
    if (d.reason[i] !== undefined) { return 102; }
    var t = cur.score[i];
    return t === null ? 101 : Math.min(100, Math.max(0, Math.floor((t + 5) / 10)));
}
function tip(i) {
    var id = d.prefix + d.id[i], t = cur.score[i], r = cur.rank[i];
    var s = "<b>" + (d.name[i] >= 0 ? d.names[d.name[i]] : id) + "</b>";
    if (t !== null) { s += "<br>" + w.score + ": " + (t / 10).toFixed(1).replace(".", d.decimal); }
    if (r !== null) { s += "<br>" + w.rank + ": " + r; }
    if (d.reason[i] !== undefined) { s += "<br>" + w.excluded + ": " + d.reason[i]; }
    return s + "<br>" + w.site + ": " + id;
}
function cellKey(x, y) {
    return (Math.floor(x / CELL) + 4096) * 65536 + Math.floor(y / CELL) + 4096;
}
function show(i) {
    if (i === hovered) { return; }
    hovered = i;
    hover.clearLayers();
    if (i < 0) { return; }
    var m = L.circleMarker([lat[i], lon[i]], {radius: radius + 2, color: "#000", weight: 2,
        fillColor: pal[colour(i)], fillOpacity: 0.95});
    m.bindTooltip(tip(i)).addTo(hover).openTooltip();
}

var Sites = L.Layer.extend({
    onAdd: function (m) {
        var pane = m.getPane("nudgeSites") || m.createPane("nudgeSites");
        pane.style.zIndex = 390;
        pane.style.pointerEvents = "none";
        this._canvas = L.DomUtil.create("canvas", "", pane);
        m.on("moveend viewreset resize", this.redraw, this);
        m.on("zoomstart", this._hide, this);
        m.on("mousemove click", this._pick, this);
        m.on("mouseout", this._leave, this);
        this.redraw();
    },
    onRemove: function (m) {
        L.DomUtil.remove(this._canvas);
        m.off("moveend viewreset resize", this.redraw, this);
        m.off("zoomstart", this._hide, this);
        m.off("mousemove click", this._pick, this);
        m.off("mouseout", this._leave, this);
    },
    _hide: function () { this._canvas.style.display = "none"; show(-1); },
    _leave: function () { show(-1); },
    redraw: function () {
        var m = this._map;
        if (!m) { return; }
        /* the canvas reaches a quarter of the view beyond each edge: a pan shows dots at once */
        var size = m.getSize(), c = this._canvas, ratio = window.devicePixelRatio || 1;
        var pad = this._pad = {x: Math.round(size.x / 4), y: Math.round(size.y / 4)};
        var wide = size.x + 2 * pad.x, high = size.y + 2 * pad.y;
        L.DomUtil.setPosition(c, m.containerPointToLayerPoint([-pad.x, -pad.y]));
        c.width = wide * ratio;
        c.height = high * ratio;
        c.style.width = wide + "px";
        c.style.height = high + "px";
        c.style.display = "";
        var z = m.getZoom();
        radius = z >= 17 ? 6 : z >= 16 ? 5 : z >= 15 ? 4 : z >= 13 ? 3 : 2;
        var b = m.getBounds().pad(0.3), s = b.getSouth(), no = b.getNorth();
        var we = b.getWest(), e = b.getEast(), groups = [], i, k, p, cell;
        grid = new Map();
        for (i = 0; i < n; i++) {
            if (!(lat[i] >= s && lat[i] <= no && lon[i] >= we && lon[i] <= e)) { continue; }
            p = m.latLngToContainerPoint([lat[i], lon[i]]);
            px[i] = p.x;
            py[i] = p.y;
            k = colour(i);
            (groups[k] || (groups[k] = [])).push(i);
            cell = cellKey(p.x, p.y);
            (grid.get(cell) || grid.set(cell, []).get(cell)).push(i);
        }
        var ctx = c.getContext("2d"), order = [102, 101];
        for (k = 0; k <= 100; k++) { order.push(k); }  /* high scores drawn last, on top */
        ctx.setTransform(ratio, 0, 0, ratio, pad.x * ratio, pad.y * ratio);  /* view coordinates */
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#333";
        for (var o = 0; o < order.length; o++) {
            var g = groups[order[o]];
            if (!g) { continue; }
            ctx.beginPath();
            for (var j = 0; j < g.length; j++) {
                i = g[j];
                ctx.moveTo(px[i] + radius, py[i]);
                ctx.arc(px[i], py[i], radius, 0, 2 * Math.PI);
            }
            ctx.globalAlpha = 0.85;
            ctx.fillStyle = pal[order[o]];
            ctx.fill();
            if (radius >= 3) { ctx.globalAlpha = 0.6; ctx.stroke(); }
        }
        ctx.globalAlpha = 1;
    },
    _pick: function (ev) {
        var p = ev.containerPoint, best = -1, reach = (radius + 3) * (radius + 3);
        for (var dx = -1; dx <= 1; dx++) {
            for (var dy = -1; dy <= 1; dy++) {
                var list = grid.get(cellKey(p.x + dx * CELL, p.y + dy * CELL)) || [];
                for (var j = 0; j < list.length; j++) {
                    var i = list[j], ex = px[i] - p.x, ey = py[i] - p.y;
                    if (ex * ex + ey * ey <= reach) { reach = ex * ex + ey * ey; best = i; }
                }
            }
        }
        show(best);
    }
});

var layer = new Sites().addTo(map);
window.nudgeSites = {
    layer: layer, count: n, lat: lat, lon: lon, tip: tip,
    key: function () { return cur.key; },
    rescore: function (next) {
        next = next || base;
        if (next.key === cur.key) { return; }
        cur = next;
        show(-1);
        layer.redraw();
    }
};
return layer;
"""
