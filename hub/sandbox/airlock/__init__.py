"""The airlock: exact results held for review by two output checkers before release.

A query on a project whose contracts ask for ``reviewed`` release runs exactly; cells
under the threshold are dropped whole, the rest is held (``pending_review``) with the
automatic disclosure findings per cell (``findings``). Output checkers (role
``output_checker``) approve or reject it (``service``, ``api``, ``web``, ``cli``); two
approvals from distinct checkers who did not submit it release it, any rejection ends it.
"""
