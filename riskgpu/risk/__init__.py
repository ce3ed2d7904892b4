"""Portfolio risk: inputs, scenarios, revaluation, VaR/ES (DESIGN.md section 2 for the conventions)."""
