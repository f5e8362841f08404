"""Loading OpenStreetMap data into a city dataset.

- `datasets`: build, read and list city datasets (`CityDataset`, `dataset_from_file`,
  `dataset_from_place`, ...), each a folder with features, streets and metadata.
- `files`: read local OSM files (.osm, .osm.bz2, .osm.pbf, Overpass JSON, GeoJSON, Geofabrik
  shapefiles, ...) into layers; `_online`: the osmnx twin that fetches them online.
- `overpass`, `features`, `streets`, `taxonomy`: parse raw elements into public spaces by
  category and street edges.
"""
