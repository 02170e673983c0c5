"""The base of every metric's options model: unknown options are errors (typos show)."""

from __future__ import annotations

import pydantic


class MetricOptions(pydantic.BaseModel):
    """Options a metric accepts in a suite file, beside ``name`` and ``weight``."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)
