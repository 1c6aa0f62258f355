"""paysim: provision, migrate, deploy, drive and verify an Azure payment-events pipeline."""

__version__ = "0.1.0"
