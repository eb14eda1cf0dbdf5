"""What the trainer and the launcher agree on, importable without TensorFlow.

The launcher renders Jobs that run the trainer image; both sides read the command, flag names, exit codes and
container paths from here so they cannot drift apart. Nothing in this package imports a third-party library.
"""
