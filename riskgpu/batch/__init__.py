"""The nightly runner's pieces: inputs under the error policy, the computing stages, outputs and progress."""
