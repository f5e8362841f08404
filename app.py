"""nudge Streamlit app: the router and shared chrome; pages live in ``pages/``."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="nudge", page_icon="🧭", layout="wide")
st.title("nudge — Еңбек – елдің мұраты")
st.write("Жоспарлау құралы дайындалуда. / Инструмент планирования в разработке.")
