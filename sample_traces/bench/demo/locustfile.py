"""Locust users for app.py: browse orders, open the report, search, add to the cart."""

from __future__ import annotations

import random

from locust import HttpUser, between, task


class Shopper(HttpUser):
    wait_time = between(0.05, 0.15)

    @task(6)
    def order(self):
        self.client.get(f"/api/orders/{random.randrange(200)}", name="/api/orders/{id}")

    @task(3)
    def report(self):
        self.client.get("/api/report")

    @task(2)
    def search(self):
        self.client.get(f"/api/search?q=c{random.randrange(20)}", name="/api/search")

    @task(1)
    def cart(self):
        self.client.post("/api/cart", json={"sku": "SKU-001", "qty": 1})
