"""ACL: users, rules, selectors, the permission check, ACL LOG, aclfile (Redis 7.0)."""
