// Who is logged in (from GET /api/v1/auth/me or the login answer); shared by pages.
export const session = {
  user: null,      // {name, customer, role}
  returnTo: '',    // the hash to go back to after logging in
};

export const canControl = () => ['admin', 'manager'].includes(session.user?.role);
export const isAdmin = () => session.user?.role === 'admin';
