"""Registry: organisations, researchers and their accreditation, projects, connectors."""
