"""The load simulator: profiles, event generation, rate control, publishing, run reports and manifests."""
