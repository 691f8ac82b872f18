"""Asset checks on every layer: STG and DW (generated per catalog table) and the views.

`model.py` says what a check and its outcome are; `staging.py`, `warehouse.py` and `views.py`
evaluate them in SQL; `assets.py` turns them into Dagster multi-asset checks.
"""
