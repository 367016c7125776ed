"""``python -m tap_dlf_instances`` runs the tap's command line."""

from tap_dlf_instances.tap import TapDLFInstances

TapDLFInstances.cli()
