"""The trio edge: listening sockets, one task per connection, the cron timer, signals."""
