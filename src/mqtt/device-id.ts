import { applyTemplate } from '../session/room-resolver';

/** Result of checking a device id taken from a topic. */
export type DeviceIdResult = { ok: true; id: string } | { ok: false; reason: string };

const MAC_HEX = /^[0-9a-f]{12}$/i;
const MAC_SEPARATED = /^[0-9a-f]{2}([:_-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}$/i;
const SAFE = /^[A-Za-z0-9._:-]+$/;
/** Segments under the base topic that belong to the bridge itself. */
const RESERVED = new Set(['bridge']);

/**
 * Canonical device id. MAC addresses arrive as aa:bb:.., AA-BB-.., aa_bb_.. or bare hex and all
 * become lower-case bare hex (`aabbccddeeff`), so one device has one session, one status topic and
 * one room. Bare hex also works as an MQTT user name, so a broker ACL can tie a user to its topics
 * (`pattern write <base>/%u/command`). Anything else must be a plain token: no MQTT wildcards,
 * slashes or control characters that could escape the topic tree or a room name.
 */
export function normaliseDeviceId(raw: string): DeviceIdResult {
  if (raw.length === 0) return { ok: false, reason: 'device id is empty' };
  if (raw.length > 64) return { ok: false, reason: 'device id is longer than 64 characters' };
  if (MAC_HEX.test(raw) || MAC_SEPARATED.test(raw)) return { ok: true, id: raw.replace(/[:_-]/g, '').toLowerCase() };
  if (!SAFE.test(raw)) return { ok: false, reason: 'device id may only contain letters, digits, ".", "_", ":" and "-"' };
  if (RESERVED.has(raw.toLowerCase())) return { ok: false, reason: `device id "${raw}" is reserved` };
  return { ok: true, id: raw };
}

/**
 * Whether a LiveKit participant identity is a device's: the identity template over its id
 * (livekit.deviceIdentityTemplate), or another spelling of the same MAC address.
 */
export function deviceIdentityMatcher(template: string): (identity: string, device: string) => boolean {
  return (identity, device) => {
    if (identity === applyTemplate(template, device)) return true;
    const id = normaliseDeviceId(identity);
    return id.ok && id.id === device;
  };
}
