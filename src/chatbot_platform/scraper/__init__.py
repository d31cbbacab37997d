"""Website scraper: crawl sites into knowledge bases and keep them fresh."""
