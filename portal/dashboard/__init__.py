"""The dashboard: figures by area, drill-down, deadlines and their projections."""
