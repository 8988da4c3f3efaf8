"""What `streamlit run` starts for the dashboard: the pages of app.py behind the gate (dashboard/gate.py)."""

from starlette.middleware import Middleware
from streamlit.starlette import App

from dashboard.gate import Gate

app = App("app.py", middleware=[Middleware(Gate)])
