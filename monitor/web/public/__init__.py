"""The public listener's pages: acknowledge links, customer status pages, heartbeats."""
