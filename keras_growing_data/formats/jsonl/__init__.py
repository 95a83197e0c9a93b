"""The JSON Lines format (`JsonlFormat`) and the modules only it needs: plans, Arrow and Python parsers."""
