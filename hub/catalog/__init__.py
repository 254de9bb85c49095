"""Catalog area: datasets described by providers, published as DCAT-AP JSON-LD."""
