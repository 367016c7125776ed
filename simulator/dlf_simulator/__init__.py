"""A simulated DataArts Factory API (and IAM token route) on loopback, for tests, demos and
benchmarks: ``SimulatedDLF(demo_dataset()).start().url``."""

from dlf_simulator.auth import (
    DEMO_ACCESS_KEY,
    DEMO_IAM_DOMAIN,
    DEMO_IAM_PASSWORD,
    DEMO_IAM_USER,
    DEMO_SECRET_KEY,
    DEMO_SECURITY_TOKEN,
    DEMO_TEMP_ACCESS_KEY,
    DEMO_TEMP_SECRET_KEY,
    DEMO_TOKEN,
    AccessKey,
    IamUser,
)
from dlf_simulator.dataset import (
    DEFAULT_WORKSPACE_ID,
    DEMO_PROJECT_ID,
    FINAL_STATUSES,
    SECOND_WORKSPACE_ID,
    STATUSES,
    Dataset,
    Instance,
    Job,
)
from dlf_simulator.faults import FAULT_KINDS
from dlf_simulator.seeding import (
    NON_ASCII_JOB,
    REAL_TIME_JOB,
    REAL_TIME_NODES,
    bulk_dataset,
    demo_dataset,
)
from dlf_simulator.server import SimConfig, SimulatedDLF

__all__ = [
    "DEFAULT_WORKSPACE_ID",
    "DEMO_ACCESS_KEY",
    "DEMO_IAM_DOMAIN",
    "DEMO_IAM_PASSWORD",
    "DEMO_IAM_USER",
    "DEMO_PROJECT_ID",
    "DEMO_SECRET_KEY",
    "DEMO_SECURITY_TOKEN",
    "DEMO_TEMP_ACCESS_KEY",
    "DEMO_TEMP_SECRET_KEY",
    "DEMO_TOKEN",
    "FAULT_KINDS",
    "FINAL_STATUSES",
    "NON_ASCII_JOB",
    "REAL_TIME_JOB",
    "REAL_TIME_NODES",
    "SECOND_WORKSPACE_ID",
    "STATUSES",
    "AccessKey",
    "Dataset",
    "IamUser",
    "Instance",
    "Job",
    "SimConfig",
    "SimulatedDLF",
    "bulk_dataset",
    "demo_dataset",
]
