"""The demo: fictional hospitals, people and cases for trying Laihua (`laihua load_demo`).

The top layer, above every domain: its loaders read the data files in data/ (each checked against its
JSON Schema in data/schemas/) and write through the domains' models and services. No domain imports it.
See docs/demo-data.md.
"""
