export { SCOPES, isScope, ownerOf, visibleOwner, type Principal, type Scope } from './principal.ts';
export { generateKey, hashKey, keyIdOf, keyMatches, KEY_ID_RE, type NewKey } from './key-format.ts';
export { parseKeysFile, readKeysFile, parseScopes, KEY_NAME_RE, type FileKey } from './keys-file.ts';
export { ApiKeyStore, type ApiKeyInfo } from './store.ts';
export { accessFor, allows, type Access } from './policy.ts';
export { authHook, registerAuth, type KeyVerifier } from './hook.ts';
export { authenticate, authorize, type Presented } from './check.ts';
