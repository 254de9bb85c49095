"""The settings tree's branches, one module an area; ``hub.config.Settings`` assembles them.

Kernel layer: plain pydantic models, importing nothing of the hub.
"""
