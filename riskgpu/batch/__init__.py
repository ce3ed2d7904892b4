"""The nightly batch runner's pieces: outputs and the HTML report."""
