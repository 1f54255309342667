/**
 * Compose keys envctl reads but does not run yet, below the service level (the service, build,
 * network-attachment and top-level lists live beside the schema in schema.ts). Named as "not
 * supported yet" instead of "unknown" (diagnostics.ts), and as warnings by validate/plan
 * (unsupported-keys.ts). No imports: both of those read it at load.
 */

/** Under a top-level `networks.NAME`. */
export const COMPOSE_NETWORK_DEFINITION_KEYS = ['ipam', 'enable_ipv6', 'enable_ipv4'];
/** Under a long-form mount (`services.NAME.volumes[i]`). */
export const COMPOSE_MOUNT_KEYS = ['consistency'];
/** Under a long-form mount's `bind:`. */
export const COMPOSE_BIND_OPTION_KEYS = ['propagation', 'selinux'];
/** Under a long-form mount's `volume:`. */
export const COMPOSE_VOLUME_OPTION_KEYS = ['subpath'];
