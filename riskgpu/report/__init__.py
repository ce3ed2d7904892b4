"""The HTML morning report of a nightly run (``render_report``, ``write_report``) and its plots."""

from riskgpu.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
