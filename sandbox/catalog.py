"""The simulated merchant: its markets, products and prices. Plain data, no behaviour."""

BUSINESS_ID = "bus_sandbox0000000000001"
BRAND_ID = "brnd_sandbox000000000001"
SETTLEMENT_CURRENCY = "USD"

# ISO 4217 exponents of the currencies the business sells in, and USD -> currency rates.
EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2, "INR": 2, "AUD": 2, "JPY": 0, "KWD": 3}
PER_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "INR": 83.0, "AUD": 1.52, "JPY": 150.0, "KWD": 0.307}

# country: (currency, tax rate, share of customers, locale, payment methods as (method, type, weight))
CARD = (
    ("card", "credit", 6),
    ("card", "debit", 3),
    ("apple_pay", "apple_pay", 1),
    ("google_pay", "google_pay", 1),
)
MARKETS = {
    "US": ("USD", 0.0, 30, "en", CARD),
    "CA": ("USD", 0.05, 4, "en", CARD),
    "GB": ("GBP", 0.20, 10, "en", CARD),
    "DE": ("EUR", 0.19, 8, "de", CARD + (("sepa", "sepa", 3),)),
    "FR": ("EUR", 0.20, 6, "fr", CARD + (("sepa", "sepa", 2),)),
    "NL": ("EUR", 0.21, 4, "nl", CARD + (("ideal", "ideal", 3),)),
    "IN": ("INR", 0.18, 12, "en", (("upi_collect", "upi_collect", 5),) + CARD),
    "JP": ("JPY", 0.10, 8, "ja", CARD),
    "KW": ("KWD", 0.0, 4, "ar", CARD),
    "AU": ("AUD", 0.10, 5, "en", CARD),
}
# Methods that settle asynchronously: the payment is `processing` for a few days first.
DELAYED_METHODS = frozenset({"sepa", "upi_collect"})
CARD_NETWORKS = (("visa", 6), ("mastercard", 4), ("amex", 1))
CITIES = {
    "US": ("New York", "NY"),
    "CA": ("Toronto", "ON"),
    "GB": ("London", None),
    "DE": ("Berlin", None),
    "FR": ("Paris", None),
    "NL": ("Amsterdam", None),
    "IN": ("Bengaluru", "KA"),
    "JP": ("Tokyo", None),
    "KW": ("Kuwait City", None),
    "AU": ("Sydney", "NSW"),
}

FIRST_NAMES = (
    "Aarav Ada Aiko Alba Amir Ana Ben Carla Chen Dana Diego Elif Emma Farah Finn Gita Hana Hugo Ines Ivan "
    "Jana Jonas Kai Kenji Lara Leo Lina Luca Maya Mia Noah Nora Omar Priya Raj Rosa Sami Sara Sofia Tariq "
    "Theo Uma Vera Yara Yuki Zoe"
).split()
LAST_NAMES = (
    "Akhtar Bauer Costa Dubois Eriksen Fischer Garcia Haddad Ito Jansen Kapoor Khan Kim Lefevre Meyer Moreau "
    "Nakamura Novak Okafor Patel Quinn Rossi Sato Schmidt Silva Smith Suzuki Tanaka Varga Walsh Weber Young"
).split()


class Plan:
    """A product. `usd` is the price in US cents; prices in other currencies are localized from it."""

    def __init__(
        self,
        key,
        name,
        kind,
        usd,
        interval=None,
        count=1,
        trial=0,
        *,
        periods=None,
        archived=False,
        license_key=False,
        seats=False,
        category="saas",
    ):
        self.key, self.name, self.kind, self.usd = key, name, kind, usd
        self.interval, self.count, self.trial = interval, count, trial
        self.periods = periods  # subscription length in cycles; None for open-ended
        self.archived, self.license_key, self.seats, self.category = archived, license_key, seats, category

    def subscription_period(self) -> dict:
        """How long a subscription to the plan runs: its fixed number of cycles, or ten years."""
        if self.periods:
            return {
                "subscription_period_count": self.periods * self.count,
                "subscription_period_interval": self.interval,
            }
        return {"subscription_period_count": 10, "subscription_period_interval": "Year"}

    def price_in(self, currency: str) -> int:
        """The localized price in the currency's minor unit."""
        major = self.usd / 100 * PER_USD[currency]
        return round(major * 10 ** EXPONENT[currency])


PLANS = (
    Plan("starter", "Starter", "subscription", 900, "Month", 1, trial=7),
    Plan("pro", "Pro", "subscription", 2900, "Month", 1, trial=14),
    Plan("pro_annual", "Pro (annual)", "subscription", 29000, "Year", 1),
    Plan("team", "Team (per seat)", "subscription", 1900, "Month", 1, seats=True),
    Plan("growth_quarterly", "Growth (quarterly)", "subscription", 7900, "Month", 3),
    Plan("weekly_digest", "Weekly Digest", "subscription", 300, "Week", 1, category="e_book"),
    Plan("sprint_pass", "30-day Sprint Pass", "subscription", 1500, "Day", 30, periods=3, category="edtech"),
    Plan("api_usage", "API usage (on demand)", "on_demand", 0, "Month", 1),
    Plan("starter_2024", "Starter 2024 (archived)", "subscription", 700, "Month", 1, archived=True),
    Plan("playbook", "Growth Playbook (e-book)", "one_time", 1900, category="e_book"),
    Plan("templates", "Template Pack", "one_time", 4900, category="digital_products"),
    Plan("lifetime", "Lifetime License", "one_time", 19900, license_key=True, category="digital_products"),
)
PLAN = {p.key: p for p in PLANS}
# New subscriptions choose among these (weights); the archived plan only has subscriptions from before.
NEW_SUBSCRIPTION_MIX = (
    ("starter", 30),
    ("pro", 25),
    ("pro_annual", 8),
    ("team", 8),
    ("growth_quarterly", 7),
    ("weekly_digest", 10),
    ("sprint_pass", 4),
    ("api_usage", 3),
    ("starter_2024", 5),
)
ONE_TIME_MIX = (("playbook", 5), ("templates", 3), ("lifetime", 1))
UPGRADES = {"starter": "pro", "starter_2024": "pro"}
DOWNGRADES = {"pro": "starter"}
DISCOUNT = {"discount_id": "dsc_sandboxlaunch20", "code": "LAUNCH20", "amount": 2000, "cycles": 3}  # 20.00%
CANCELLATION_FEEDBACK = (
    "too_expensive",
    "missing_features",
    "switched_service",
    "unused",
    "customer_service",
    "low_quality",
    "too_complex",
    "other",
)
