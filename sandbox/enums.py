"""Enumerations of the Dodo API that the sandbox validates against (docs/dodo-api.md §6.3 and §8.2;
taken from Dodo's published API reference, not from the ETL: the sandbox shares no code with it)."""

CURRENCIES = frozenset(
    """
    AED ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BWP BYN BZD CAD CHF
    CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
    HNL HRK HTG HUF IDR ILS INR IQD JMD JOD JPY KES KGS KHR KMF KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP
    PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SZL THB TND TOP
    TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    """.split()
)

SOFT_DECLINES = (
    "AUTHENTICATION_FAILURE",
    "AUTHENTICATION_REQUIRED",
    "AUTHENTICATION_TIMEOUT",
    "CARD_NOT_ACTIVATED",
    "CARD_VELOCITY_EXCEEDED",
    "CUSTOMER_CANCELLED",
    "GENERIC_DECLINE",
    "INCORRECT_CVC",
    "INCORRECT_NUMBER",
    "INSUFFICIENT_FUNDS",
    "INVALID_AMOUNT",
    "INVALID_CARD_NUMBER",
    "INVALID_CARD_OWNER",
    "INVALID_CVC",
    "INVALID_EXPIRY_YEAR",
    "INVALID_PIN",
    "INVALID_REQUEST",
    "INVALID_UPI_ID",
    "LIMIT_EXCEEDED",
    "LIVE_MODE_TEST_CARD",
    "MANDATE_INVALID",
    "MANDATE_REQUIRED",
    "NETWORK_ERROR",
    "NETWORK_TIMEOUT",
    "ORDER_CREATION_FAILED",
    "PROCESSING_ERROR",
    "REENTER_TRANSACTION",
    "TRY_AGAIN_LATER",
    "UNKNOWN_ERROR",
)

HARD_DECLINES = (
    "CARD_DECLINED",
    "DO_NOT_HONOR",
    "EXPIRED_CARD",
    "FRAUDULENT",
    "INVALID_ACCOUNT",
    "LOST_CARD",
    "MANDATE_REQUIRED_SYSTEM",
    "PAYMENT_METHOD_PROVIDER_DECLINED",
    "PAYMENT_METHOD_UNSUPPORTED",
    "PICKUP_CARD",
    "PROVIDER_UNSUPPORTED",
    "REVOCATION_OF_AUTHORIZATION",
    "STOLEN_CARD",
    "TRANSACTION_NOT_ALLOWED",
    "TRANSACTION_NOT_APPROVED",
)

PAYMENT_STATUSES = (
    "succeeded",
    "failed",
    "cancelled",
    "processing",
    "requires_customer_action",
    "requires_merchant_action",
    "requires_payment_method",
    "requires_confirmation",
    "requires_capture",
    "partially_captured",
    "partially_captured_and_capturable",
)
SUBSCRIPTION_STATUSES = ("pending", "active", "on_hold", "paused", "cancelled", "failed", "expired")
REFUND_STATUSES = ("succeeded", "failed", "pending", "review")
DISPUTE_STATUSES = (
    "dispute_opened",
    "dispute_expired",
    "dispute_accepted",
    "dispute_cancelled",
    "dispute_challenged",
    "dispute_won",
    "dispute_lost",
)
DISPUTE_STAGES = ("pre_dispute", "dispute", "pre_arbitration")
LEDGER_EVENT_TYPES = (
    "payment",
    "refund",
    "refund_reversal",
    "dispute",
    "dispute_reversal",
    "tax",
    "tax_reversal",
    "payment_fees",
    "refund_fees",
    "refund_fees_reversal",
    "dispute_fees",
    "payout",
    "payout_fees",
    "payout_reversal",
    "payout_fees_reversal",
    "dodo_credits",
    "adjustment",
    "currency_conversion",
    "abandoned_cart_recovery_fee",
    "dunning_fees",
    "payment_retry_fee",
    "byop_fee",
)
