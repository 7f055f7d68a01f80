"""Suite-wide settings."""

from hypothesis import HealthCheck, settings

# CI runs on 2 shared cores next to subprocess-heavy integration tests: a slow example is load,
# not a failure. The properties themselves are unchanged.
settings.register_profile(
    "sony-pm-alt", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("sony-pm-alt")
