"""The tap's five streams, one module each with its stream's own rules.

- ``jobs``: the workspace's jobs.
- ``instances``: every run of the jobs read (the main table), window by window.
- ``instance_nodes``: the node runs of each final instance, a child of ``instances``.
- ``patch_data``: the PatchData (backfill) runs.
- ``alarms``: the alarms the jobs raised, window by window.
"""
