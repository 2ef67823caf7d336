// MPI for Swift: the communicator, datatype and operation handles are macros Swift cannot import, so the few IonLink
// uses are re-exported here as functions.
#include <mpi.h>

static inline MPI_Comm ionlink_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype ionlink_mpi_unsigned_long_long(void) { return MPI_UNSIGNED_LONG_LONG; }
static inline MPI_Datatype ionlink_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype ionlink_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op ionlink_mpi_min(void) { return MPI_MIN; }
static inline MPI_Op ionlink_mpi_max(void) { return MPI_MAX; }
