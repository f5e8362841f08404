"""Pages of the nudge Streamlit app; `app.py` routes to them with ``st.navigation``."""
