"""What every part of the product shares: the settings, the errors and their exit codes, and the
published warehouse as readers see it. Imports neither streamlit nor httpx."""
