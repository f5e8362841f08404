"""Streamlit-free services behind the app's pages, and the maps they show.

Nothing here imports Streamlit: the pages in ``app_pages`` read widgets, call these functions
and render what they return.
"""
