"""The curated raw schema and the names every step shares."""
