"""graph_layers"""
