"""What a launcher run produced, and the arguments the flow tests share."""

from dataclasses import dataclass


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one line the launcher prints for an error (asserting there is exactly one)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        return lines[0]

    @property
    def last_error_line(self) -> str:
        """The error line after any progress notes (asserting there is exactly one error line, and last)."""
        errors = [line for line in self.err.splitlines() if line.startswith("launcher: error:")]
        assert len(errors) == 1 and self.err.strip().splitlines()[-1] == errors[0], self.err
        return errors[0]


TRAINER_ARGS = (
    "--",
    "--model",
    "bert-base-cased",
    "--train-data",
    "s3://team-data/reviews/train.csv",
    "--text-column",
    "text",
    "--label-column",
    "label",
    "--output",
    "s3://team-runs/reviews-42",
)
"""What a user passes after `--`: the trainer's own flags."""

SUBMIT = (
    "submit",
    "--name",
    "reviews-42",
    "--image",
    "registry.example.com/ml/trainer:1.0",
    "--gpus",
    "4",
    "--s3-secret",
    "team-s3",
    "--poll-interval",
    "0.01",
)
