// MPI for Swift: the communicator, datatype and operation handles are macros Swift cannot import, so the few IonLink
// uses are re-exported here as functions.
#include <mpi.h>
#include <time.h>

static inline MPI_Comm ionlink_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype ionlink_mpi_unsigned_long_long(void) { return MPI_UNSIGNED_LONG_LONG; }
static inline MPI_Datatype ionlink_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype ionlink_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op ionlink_mpi_min(void) { return MPI_MIN; }
static inline MPI_Op ionlink_mpi_max(void) { return MPI_MAX; }

/// MPI_Barrier that sleeps while it waits (1 ms at a time, after 1 ms of polling): a rank waiting for rank 0's serial
/// work leaves its core to the others instead of spinning, which matters when ranks share cores.
static inline int ionlink_mpi_patient_barrier(void) {
    MPI_Request request;
    int done = 0, rc = MPI_Ibarrier(MPI_COMM_WORLD, &request);
    if (rc != MPI_SUCCESS) return rc;
    double start = MPI_Wtime();
    while (!done) {
        rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return rc;
        if (!done && MPI_Wtime() - start > 1e-3) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
    }
    return MPI_SUCCESS;
}
