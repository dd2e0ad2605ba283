"""What tests share: processes (stack), their credentials (keys), HTTP and websocket clients (wall), Kafka
records (records), device frames (frames) and expected traffic counts (traffic)."""
