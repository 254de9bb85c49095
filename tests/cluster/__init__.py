"""The cluster harness: the production topology as native processes on loopback, broken
on purpose (``scripts/cluster.sh``), then checked against the sources of truth."""
