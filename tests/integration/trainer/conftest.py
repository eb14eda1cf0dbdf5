from trainer_e2e_helpers import moto_s3_auth, staged_moto  # noqa: F401 - fixtures
