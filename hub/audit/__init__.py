"""The DPO's audit feature over the trail (``hub.trail``): search and export, the per-pupil
report, proofs, witnesses, alert rules and the periodic tasks. No area imports it."""
