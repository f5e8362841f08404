"""Geography of Kazakhstan: regions, cities and their populations, district layers, distances."""
