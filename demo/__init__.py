"""The demo: the hub on embedded defaults, seeded, with the demo connector's traces pushed.

It sits above both the hub and the connector (it drives one with the other), so neither
imports it. Command: ``edh-demo`` (``python -m demo``).
"""
