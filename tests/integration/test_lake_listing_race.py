"""A batch registered while a query is being vetted is not a missing lake object (found by
the cluster harness: the sandbox listed the lake, a connector's batch was registered, the
registry then named an object the listing lacked, and the query was refused with a false
'lake-object-altered' alert to the DPO)."""

from __future__ import annotations

import pytest

from hub.ingest.integrity import LakeObjectAltered
from hub.sandbox.verified import VerifiedLake
from tests.support.sandbox_fixtures import SandboxWorld, register_batch, write_batch

DATASETS = ("videos",)


def test_an_object_registered_after_the_listing_passes_and_a_deleted_one_does_not(
    sandbox: SandboxWorld,
) -> None:
    lake = sandbox.runtime.lake
    assert isinstance(lake, VerifiedLake)
    listed = lake.files(sandbox.provider, "c-alice", DATASETS, None)  # the query's listing
    stale = [lake._object(p) for p in listed]
    prefixes = (f"lake/{sandbox.provider}/c-alice/videos/",)
    # meanwhile a connector's batch is uploaded and registered
    path = write_batch(
        sandbox.lake, sandbox.provider, "c-alice", "videos", statements=50, pupils=10, seq=9
    )
    register_batch(sandbox.ctx, sandbox.lake, sandbox.connector, path)
    vetted = lake.guard.check("c-alice", stale, prefixes, locate=lake.object_at)
    assert set(vetted) == {o.key for o in stale}
    path.unlink()  # a registered object deleted behind the hub's back is still caught
    with pytest.raises(LakeObjectAltered):
        lake.guard.check("c-alice", stale, prefixes, locate=lake.object_at)
