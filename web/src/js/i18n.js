// Every visible string goes through t(key, params). To add one: add the key to
// both `en` and `ko` below (tests/e2e check that both have the same keys), then
// use t('section.key') in the page. `{name}` in a string is replaced by params.name.

const dict = {
  en: {
    'nav.overview': 'Overview',
    'nav.users': 'Users',
    'nav.audit': 'Audit log',
    'nav.devices': 'Devices',
    'devices.title': 'Middleware certificates',
    'devices.building': 'Building',
    'devices.thing': 'Middleware',
    'devices.serial': 'Serial',
    'devices.fingerprint': 'SHA-256',
    'devices.expires': 'Expires',
    'devices.state': 'Certificate',
    'devices.state.valid': 'Valid',
    'devices.state.revoked': 'Revoked',
    'devices.state.none': 'None',
    'devices.add': 'Register and download bundle',
    'devices.addTitle': 'New middleware',
    'devices.index': 'Number ({prefix}…)',
    'devices.keyOnce': 'The bundle file holds the private key. It is downloaded once and not kept by nbms: store it safely.',
    'devices.issue': 'Issue certificate',
    'devices.reissue': 'Reissue',
    'devices.revoke': 'Revoke',
    'devices.registered': 'Certificate for {name} issued; its bundle was downloaded.',
    'devices.reissued': 'New certificate for {name}; the old one is revoked. Its bundle was downloaded.',
    'devices.revoked': 'Certificate of {name} revoked: it can no longer use the broker.',
    'devices.confirmReissue': 'Issue a new certificate for {name}? The old one stops working at once.',
    'devices.confirmRevoke': 'Revoke the certificate of {name}? It is cut off from the broker at once.',
    'nav.logout': 'Log out',
    'nav.language': 'Language',

    'ws.open': 'Live',
    'ws.connecting': 'Connecting…',
    'ws.closed': 'Offline',

    'role.admin': 'Administrator',
    'role.manager': 'Manager',
    'role.viewer': 'Viewer',

    'login.title': 'Sign in to nbms',
    'login.user': 'User name',
    'login.password': 'Password',
    'login.submit': 'Sign in',
    'login.pending': 'Signing in…',
    'login.failed': 'Wrong user name or password.',
    'login.throttled': 'Too many failed attempts. Try again later.',

    'notFound.title': 'Not found',
    'notFound.text': 'This page does not exist, or you do not have access to it.',

    'error.network': 'The server cannot be reached.',
    'error.bad_request': 'Invalid request',
    'error.forbidden': 'Not allowed',
    'error.not_found': 'Not found',
    'error.conflict': 'Already exists',
    'error.unavailable': 'Temporarily unavailable',
    'error.throttled': 'Too many attempts',
    'error.internal': 'Server error',
    'error.disconnected': 'Not connected to the live channel',
    'error.closed': 'The live channel closed',

    'overview.title': 'Buildings',
    'overview.customer': 'Customer',
    'overview.noCustomers': 'There are no customers yet.',
    'overview.noBuildings': 'This customer has no buildings yet.',
    'overview.points': 'Points',
    'overview.lastData': 'Last data',
    'overview.things': 'Middleware',
    'overview.thingList': 'Middleware ({n})',
    'overview.lastSeen': 'last seen',
    'overview.lastLog': 'last log',

    'state.online': 'Online',
    'state.offline': 'Offline',
    'state.unknown': 'Unknown',

    'building.filter': 'Filter',
    'building.filterHint': 'name, id, equipment…',
    'building.expandAll': 'Expand all',
    'building.collapseAll': 'Collapse all',
    'building.shown': '{n} of {total} points',
    'building.noPoints': 'No points yet: the middleware has not announced any.',
    'building.noEquipment': '(no equipment)',
    'building.col.point': 'Point',
    'building.col.value': 'Value',
    'building.col.unit': 'Unit',
    'building.col.age': 'Updated',
    'building.control': 'Control',
    'building.openTrend': 'Show the trend',

    'quality.live': 'Live value',
    'quality.ok': 'From the periodic log',
    'quality.stale': 'Old value',
    'quality.none': 'No value yet',

    'value.on': 'On',
    'value.off': 'Off',

    'control.title': 'Control point',
    'control.current': 'Current',
    'control.value': 'New value',
    'control.priority': 'Priority (1–16)',
    'control.send': 'Send',
    'control.close': 'Close',
    'control.pending': 'Sent, waiting for the middleware…',
    'control.accepted': 'Accepted',
    'control.failed': 'Failed',
    'control.timeout': 'No answer from the middleware (timeout).',
    'control.badValue': 'Enter a valid value for this point.',
    'control.badPriority': 'Priority must be 1–16, except 1, 2 and 6.',

    'trend.back': 'Building',
    'trend.range': 'Range',
    'trend.day': 'Day',
    'trend.week': 'Week',
    'trend.month': 'Month',
    'trend.resetZoom': 'Reset zoom',
    'trend.loading': 'loading…',
    'trend.samples': '{n} samples',
    'trend.time': 'Time',
    'trend.zoomHint': 'Drag across the chart to zoom in; double-click or "Reset zoom" to zoom out.',

    'users.title': 'Users',
    'users.name': 'Name',
    'users.customer': 'Customer',
    'users.role': 'Role',
    'users.created': 'Created',
    'users.password': 'Password (10+ characters)',
    'users.add': 'Add user',
    'users.addTitle': 'New user',
    'users.added': 'User {name} added.',
    'users.delete': 'Delete',
    'users.deleted': 'User {name} deleted.',
    'users.confirmDelete': 'Delete user {name}? Their sessions end at once.',
    'users.resetPassword': 'Set password',
    'users.resetTitle': 'New password for {name}',
    'users.currentPassword': 'Your current password',
    'users.newPassword': 'New password (10+ characters)',
    'users.save': 'Save',
    'users.passwordChanged': 'Password of {name} changed.',
    'users.allCustomers': 'All customers',

    'audit.title': 'Audit log',
    'audit.from': 'From',
    'audit.to': 'To',
    'audit.limit': 'At most',
    'audit.apply': 'Show',
    'audit.count': '{n} entries',
    'audit.time': 'Time',
    'audit.customer': 'Customer',
    'audit.user': 'User',
    'audit.remote': 'Address',
    'audit.action': 'Action',
    'audit.target': 'Target',
    'audit.detail': 'Detail',
    'audit.ok': 'OK',
    'audit.okYes': 'Succeeded',
    'audit.okNo': 'Failed',
  },
  ko: {
    'nav.overview': '개요',
    'nav.users': '사용자',
    'nav.audit': '감사 로그',
    'nav.devices': '장치',
    'devices.title': '미들웨어 인증서',
    'devices.building': '건물',
    'devices.thing': '미들웨어',
    'devices.serial': '일련번호',
    'devices.fingerprint': 'SHA-256',
    'devices.expires': '만료',
    'devices.state': '인증서',
    'devices.state.valid': '유효',
    'devices.state.revoked': '폐기됨',
    'devices.state.none': '없음',
    'devices.add': '등록 후 번들 다운로드',
    'devices.addTitle': '새 미들웨어',
    'devices.index': '번호 ({prefix}…)',
    'devices.keyOnce': '번들 파일에는 개인 키가 들어 있습니다. 한 번만 다운로드되며 nbms에 보관되지 않으니 안전하게 보관하세요.',
    'devices.issue': '인증서 발급',
    'devices.reissue': '재발급',
    'devices.revoke': '폐기',
    'devices.registered': '{name}의 인증서를 발급했고 번들을 다운로드했습니다.',
    'devices.reissued': '{name}의 새 인증서를 발급했고 이전 인증서는 폐기했습니다. 번들을 다운로드했습니다.',
    'devices.revoked': '{name}의 인증서를 폐기했습니다. 더 이상 브로커를 사용할 수 없습니다.',
    'devices.confirmReissue': '{name}의 인증서를 새로 발급할까요? 이전 인증서는 즉시 사용할 수 없게 됩니다.',
    'devices.confirmRevoke': '{name}의 인증서를 폐기할까요? 즉시 브로커에서 차단됩니다.',
    'nav.logout': '로그아웃',
    'nav.language': '언어',

    'ws.open': '실시간',
    'ws.connecting': '연결 중…',
    'ws.closed': '연결 끊김',

    'role.admin': '관리자',
    'role.manager': '매니저',
    'role.viewer': '조회자',

    'login.title': 'nbms 로그인',
    'login.user': '사용자 이름',
    'login.password': '비밀번호',
    'login.submit': '로그인',
    'login.pending': '로그인 중…',
    'login.failed': '사용자 이름 또는 비밀번호가 올바르지 않습니다.',
    'login.throttled': '실패한 시도가 너무 많습니다. 잠시 후 다시 시도하세요.',

    'notFound.title': '찾을 수 없음',
    'notFound.text': '이 페이지가 없거나 접근 권한이 없습니다.',

    'error.network': '서버에 연결할 수 없습니다.',
    'error.bad_request': '잘못된 요청',
    'error.forbidden': '권한 없음',
    'error.not_found': '찾을 수 없음',
    'error.conflict': '이미 존재함',
    'error.unavailable': '일시적으로 사용할 수 없음',
    'error.throttled': '시도 횟수 초과',
    'error.internal': '서버 오류',
    'error.disconnected': '실시간 채널에 연결되어 있지 않습니다',
    'error.closed': '실시간 채널이 닫혔습니다',

    'overview.title': '건물',
    'overview.customer': '고객',
    'overview.noCustomers': '아직 고객이 없습니다.',
    'overview.noBuildings': '이 고객에게는 아직 건물이 없습니다.',
    'overview.points': '포인트',
    'overview.lastData': '최근 데이터',
    'overview.things': '미들웨어',
    'overview.thingList': '미들웨어 ({n})',
    'overview.lastSeen': '최근 수신',
    'overview.lastLog': '최근 로그',

    'state.online': '온라인',
    'state.offline': '오프라인',
    'state.unknown': '알 수 없음',

    'building.filter': '검색',
    'building.filterHint': '이름, ID, 설비…',
    'building.expandAll': '모두 펼치기',
    'building.collapseAll': '모두 접기',
    'building.shown': '포인트 {total}개 중 {n}개',
    'building.noPoints': '아직 포인트가 없습니다: 미들웨어가 알리지 않았습니다.',
    'building.noEquipment': '(설비 없음)',
    'building.col.point': '포인트',
    'building.col.value': '값',
    'building.col.unit': '단위',
    'building.col.age': '갱신',
    'building.control': '제어',
    'building.openTrend': '트렌드 보기',

    'quality.live': '실시간 값',
    'quality.ok': '주기 로그 값',
    'quality.stale': '오래된 값',
    'quality.none': '값 없음',

    'value.on': '켜짐',
    'value.off': '꺼짐',

    'control.title': '포인트 제어',
    'control.current': '현재',
    'control.value': '새 값',
    'control.priority': '우선순위 (1–16)',
    'control.send': '전송',
    'control.close': '닫기',
    'control.pending': '전송됨, 미들웨어 응답 대기 중…',
    'control.accepted': '적용됨',
    'control.failed': '실패',
    'control.timeout': '미들웨어 응답 없음 (시간 초과).',
    'control.badValue': '이 포인트에 맞는 값을 입력하세요.',
    'control.badPriority': '우선순위는 1–16이며 1, 2, 6은 사용할 수 없습니다.',

    'trend.back': '건물',
    'trend.range': '기간',
    'trend.day': '일',
    'trend.week': '주',
    'trend.month': '월',
    'trend.resetZoom': '확대 초기화',
    'trend.loading': '불러오는 중…',
    'trend.samples': '샘플 {n}개',
    'trend.time': '시간',
    'trend.zoomHint': '차트를 드래그하여 확대하고, 더블클릭하거나 "확대 초기화"로 되돌립니다.',

    'users.title': '사용자',
    'users.name': '이름',
    'users.customer': '고객',
    'users.role': '역할',
    'users.created': '생성',
    'users.password': '비밀번호 (10자 이상)',
    'users.add': '사용자 추가',
    'users.addTitle': '새 사용자',
    'users.added': '사용자 {name}을(를) 추가했습니다.',
    'users.delete': '삭제',
    'users.deleted': '사용자 {name}을(를) 삭제했습니다.',
    'users.confirmDelete': '사용자 {name}을(를) 삭제할까요? 세션이 즉시 종료됩니다.',
    'users.resetPassword': '비밀번호 설정',
    'users.resetTitle': '{name}의 새 비밀번호',
    'users.currentPassword': '현재 비밀번호',
    'users.newPassword': '새 비밀번호 (10자 이상)',
    'users.save': '저장',
    'users.passwordChanged': '{name}의 비밀번호를 변경했습니다.',
    'users.allCustomers': '모든 고객',

    'audit.title': '감사 로그',
    'audit.from': '시작',
    'audit.to': '끝',
    'audit.limit': '최대',
    'audit.apply': '조회',
    'audit.count': '{n}건',
    'audit.time': '시간',
    'audit.customer': '고객',
    'audit.user': '사용자',
    'audit.remote': '주소',
    'audit.action': '작업',
    'audit.target': '대상',
    'audit.detail': '상세',
    'audit.ok': '결과',
    'audit.okYes': '성공',
    'audit.okNo': '실패',
  },
};

export const languages = Object.keys(dict);
const STORAGE_KEY = 'nbms.lang';

function initial() {
  let saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch { /* storage blocked */ }
  if (saved && dict[saved]) return saved;
  return (typeof navigator !== 'undefined' && navigator.language || '').toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

let current = initial();
const listeners = new Set();

export const lang = () => current;

export function setLang(l) {
  if (!dict[l] || l === current) return;
  current = l;
  try { localStorage.setItem(STORAGE_KEY, l); } catch { /* storage blocked */ }
  if (typeof document !== 'undefined') document.documentElement.lang = l;
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

/** The string for key in the current language; `fallback` when the key is unknown (default: the key). */
export function t(key, params = {}, fallback = key) {
  let s = dict[current][key] ?? dict.en[key];
  if (s === undefined) return fallback;
  for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** For tests: the keys of each language. */
export const dictionaries = dict;
