import { lazy, Suspense } from 'react';
import { Route, Routes, useLocation } from 'react-router';
import { ErrorBoundary } from './components/ErrorBoundary';
import { RequireAuth } from './layout/RequireAuth';
import { ConsoleLayout } from './layout/ConsoleLayout';
import { OrgLayout } from './layout/OrgLayout';
import { Loading } from './components/Status';
import { SignIn } from './pages/account/SignIn';
import { SignUp } from './pages/account/SignUp';
import { Home } from './pages/Home';
import { NotFound } from './pages/NotFound';
import { Projects } from './pages/orgs/Projects';

// Screens past the first one load on demand, so the sign-in page and the org home stay small.
const VerifyEmail = lazy(() => import('./pages/account/VerifyEmail'));
const ForgotPassword = lazy(() => import('./pages/account/ForgotPassword'));
const ResetPassword = lazy(() => import('./pages/account/ResetPassword'));
const Account = lazy(() => import('./pages/account/Account'));
const ApiTokens = lazy(() => import('./pages/orgs/ApiTokens'));
const AuditLog = lazy(() => import('./pages/orgs/AuditLog'));
const ExperimentPage = lazy(() => import('./pages/experiments/ExperimentPage'));
const CompareRuns = lazy(() => import('./pages/experiments/CompareRuns'));
const AcceptInvitation = lazy(() => import('./pages/orgs/AcceptInvitation'));
const NewOrganization = lazy(() => import('./pages/orgs/NewOrganization'));
const Members = lazy(() => import('./pages/orgs/Members'));
const Trainers = lazy(() => import('./pages/trainers/Trainers'));
const DatasetPage = lazy(() => import('./pages/datasets/DatasetPage'));
const StartTraining = lazy(() => import('./pages/jobs/StartTraining'));
const JobPage = lazy(() => import('./pages/jobs/JobPage'));
const ProjectPage = lazy(() => import('./pages/projects/ProjectPage'));

export function App() {
  const { pathname } = useLocation();
  return (
    <ErrorBoundary resetKey={pathname}>
      <Suspense fallback={<Loading what="the page" />}>
        <Routes>
          <Route path="/signin" element={<SignIn />} />
          <Route path="/signup" element={<SignUp />} />
          <Route path="/forgot-password" element={<ForgotPassword />} />
          <Route path="/reset-password" element={<ResetPassword />} />
          <Route path="/verify-email" element={<VerifyEmail />} />
          <Route path="/invitations/accept" element={<AcceptInvitation />} />
          <Route element={<RequireAuth />}>
            <Route element={<ConsoleLayout />}>
              <Route index element={<Home />} />
              <Route path="account" element={<Account />} />
              <Route path="orgs/new" element={<NewOrganization />} />
              <Route path="o/:orgSlug" element={<OrgLayout />}>
                <Route index element={<Projects />} />
                <Route path="members" element={<Members />} />
                <Route path="tokens" element={<ApiTokens />} />
                <Route path="audit" element={<AuditLog />} />
                <Route path="trainers" element={<Trainers />} />
                <Route path="projects/:projectId" element={<ProjectPage />} />
                <Route path="projects/:projectId/train" element={<StartTraining />} />
                <Route path="projects/:projectId/compare" element={<CompareRuns />} />
                <Route path="experiments/:experimentId" element={<ExperimentPage />} />
                <Route path="datasets/:datasetId" element={<DatasetPage />} />
                <Route path="jobs/:jobId" element={<JobPage />} />
              </Route>
              <Route path="*" element={<NotFound />} />
            </Route>
          </Route>
        </Routes>
      </Suspense>
    </ErrorBoundary>
  );
}
