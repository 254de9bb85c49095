"""Policy enforcement: every access decision goes through ``enforce.check`` (audited).

``data`` publishes the areas' tables to the policy engine, ``factory`` attaches an engine
to the hub context, ``gate`` is the FastAPI dependency for routers, ``cli`` the
``edh policy`` commands. The engines and their port stay in ``hub.policy``.
"""
